-- Whether two names are the same person's (the rule customers are matched by, schema 6).
SELECT shopsync_names_agree(CAST(:one AS text), CAST(:other AS text))
