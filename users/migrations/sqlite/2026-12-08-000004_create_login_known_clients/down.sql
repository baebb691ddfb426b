DROP INDEX login_known_clients_user_client;
DROP TABLE login_known_clients;
