DROP TABLE beers;
