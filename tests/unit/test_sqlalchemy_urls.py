"""Engine URLs for SQLAlchemy: the driver, the database, and a password never printed."""

from __future__ import annotations

from pytest_moclone.sqlalchemy import create_engine, engine_url


def test_a_clone_url_becomes_a_pymysql_url_that_hides_its_password() -> None:
    url = engine_url("mysql+pymysql://root:s3cr%40t@127.0.0.1:6001/moclone_x_main_1")
    assert (url.drivername, url.host, url.port, url.database) == (
        "mysql+pymysql",
        "127.0.0.1",
        6001,
        "moclone_x_main_1",
    )
    assert url.password == "s3cr@t"
    assert "s3cr" not in str(url) and "s3cr" not in repr(url)
    assert str(url) == "mysql+pymysql://root:***@127.0.0.1:6001/moclone_x_main_1"


def test_another_database_on_the_same_server() -> None:
    url = engine_url("mysql://root@h:3306/a", "golden")
    assert url.database == "golden" and url.password is None


def test_an_engine_never_prints_the_password() -> None:
    engine = create_engine("mysql://u:topsecret@127.0.0.1:1/db")
    try:
        assert "topsecret" not in repr(engine) and "topsecret" not in str(engine.url)
    finally:
        engine.dispose()
