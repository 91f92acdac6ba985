from calitho_env.cli import main

main()
