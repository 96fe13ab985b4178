"""The long-running service: the control socket, sd_notify readiness and watchdog, unit install.

``voicecoach serve`` owns the audio devices; the CLI talks to it over a private Unix socket.
"""
