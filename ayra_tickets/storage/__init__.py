"""SQLite storage: schema and migrations, the ticket repository, keys and agents."""

from .accounts import SCOPES, AgentStore, ApiKey, KeyStore
from .database import open_database
from .tickets import TicketStore

__all__ = ["SCOPES", "AgentStore", "ApiKey", "KeyStore", "TicketStore", "open_database"]
