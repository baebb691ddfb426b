-- Run once by the postgres image, when its data volume is empty
-- (/docker-entrypoint-initdb.d): one database per service, owned by POSTGRES_USER.
-- Each service's tables are made by its migrations (`tasks <service> setup`), not here.
CREATE DATABASE users;
CREATE DATABASE beers;
CREATE DATABASE orders;
