"""Synthetic accounting data: `seed_database(engine, goods, seed)` fills every data table deterministically.

Modules: vocab (words and the category tree), kinds (characteristic kinds), catalog (classifier rows),
goods (models, goods, characteristics, stock, prices), photos (JPEG pool), people (customers, phones,
gift certificates), seeder (the COPY-based load and its summary).
"""

from shopsync.seed.seeder import SeedSummary, seed_database

__all__ = ["SeedSummary", "seed_database"]
