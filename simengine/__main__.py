from simengine.cli import main

main()
