-- Run once by the postgres image on an empty data folder (compose.yml): the conversations'
-- database (GRU_TRACKER_STORE_URL) beside the application's (POSTGRES_DB, GRU_DATABASE_URL).
CREATE DATABASE gru_tracker OWNER gru;
