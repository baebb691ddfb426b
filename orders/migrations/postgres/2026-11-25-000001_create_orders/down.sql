DROP TABLE order_lines;
DROP INDEX orders_owner_newest;
DROP INDEX orders_one_open_per_owner;
DROP TABLE orders;
