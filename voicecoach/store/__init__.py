"""SQLite store: sessions, exercise outcomes, pain reports and the avoid list, durable on return."""

from voicecoach.store.backup import (
    BackupError,
    BackupInfo,
    DamagedDatabaseError,
    Restored,
    restore,
    write_backup,
)
from voicecoach.store.db import Store
from voicecoach.store.memory import MemoryStore
from voicecoach.store.protocol import AvoidEntry, SessionStore
from voicecoach.store.schema import END_REASONS, OUTCOMES, SchemaTooNewError, StoreError

__all__ = [
    "END_REASONS",
    "OUTCOMES",
    "AvoidEntry",
    "BackupError",
    "BackupInfo",
    "DamagedDatabaseError",
    "MemoryStore",
    "Restored",
    "SchemaTooNewError",
    "SessionStore",
    "Store",
    "StoreError",
    "restore",
    "write_backup",
]
