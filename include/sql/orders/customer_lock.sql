-- Transaction-scoped lock on one normalised phone or e-mail: serialises find-or-create of the same person.
SELECT pg_advisory_xact_lock(:namespace, hashtext(:key))
