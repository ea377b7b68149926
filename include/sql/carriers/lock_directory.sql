-- One refresh of a carrier's directory at a time (the weekly DAG and a refresh by hand): held to the commit.
SELECT pg_advisory_xact_lock(hashtext('shopsync carrier directory ' || CAST(:carrier AS text)))
