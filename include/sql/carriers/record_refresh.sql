-- One row per refresh that went through, stamped with the same time as the rows it saw.
INSERT INTO carrier_directory_refreshes (carrier, refreshed_at, cities, branches, deactivated)
VALUES (:carrier, now(), :cities, :branches, :deactivated)
