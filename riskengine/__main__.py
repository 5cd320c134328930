from riskengine.cli import command

command()
