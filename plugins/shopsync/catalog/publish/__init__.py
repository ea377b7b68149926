"""Publishing a shop's feeds: whole feed sets, all or nothing (sets/), and the manifest (manifest.py).

The stores they write through are in shopsync.transport.
"""
