"""``python -m voicecoach`` runs the CLI."""

from voicecoach.cli import main

main()
