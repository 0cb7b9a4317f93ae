dbmigrate apply: error [USAGE]: dbmigrate apply: Unknown option '--lok-timeout' (see dbmigrate apply --help)
