"""Tests of the PostgreSQL adapter, against the server AYRA_TICKETS_TEST_POSTGRES names."""
