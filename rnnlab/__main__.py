from rnnlab.cli import main

main()
