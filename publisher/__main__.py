from publisher.cli import entry

entry()
