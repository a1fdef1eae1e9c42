from drumeval.cli import main

main()
