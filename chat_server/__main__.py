from chat_server.cli import main

raise SystemExit(main())
