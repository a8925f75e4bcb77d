"""The build engine: plan files rendered a file at a time, kept between builds, the files
made from many spliced from the last site, and the new site swapped in whole."""
