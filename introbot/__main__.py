from introbot.cli import main

main(prog_name="introbot")
