"""SHOW GRANTS as MySQL, MariaDB and TiDB print it, parsed into what the pre-checks ask."""

from __future__ import annotations

from airflow_provider_tidb_lightning.lightning.importer.privileges import parse_grants


def test_global_database_and_table_grants() -> None:
    grants = parse_grants([
        "GRANT USAGE ON *.* TO `loader`@`%` IDENTIFIED BY PASSWORD '*0123456789ABCDEF'",
        "GRANT SELECT, INSERT, CREATE ON `app`.* TO `loader`@`%`",
        "GRANT DELETE ON `app`.`orders` TO `loader`@`%`",
        "GRANT UPDATE (`status`), SELECT ON `crm`.`tickets` TO `loader`@`%`",
    ])
    assert grants.allows("insert", "app", "orders") and grants.allows("CREATE", "app")
    assert grants.allows("DELETE", "app", "orders") and not grants.allows("DELETE", "app", "customer")
    assert not grants.allows("INSERT", "other", "orders")
    assert grants.allows("UPDATE", "crm", "tickets")  # a column grant counts for the table
    assert not grants.has_roles


def test_all_privileges_and_tidb_spelling() -> None:
    assert parse_grants(["GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION"]).allows("INSERT", "x")
    tidb = parse_grants(["GRANT Select,Insert,Create ON test.* TO 'u'@'%'"])
    assert tidb.allows("INSERT", "test", "t") and not tidb.allows("DELETE", "test", "t")


def test_database_patterns_follow_mysql_wildcards() -> None:
    grants = parse_grants([r"GRANT INSERT ON `app\_%`.* TO `u`@`%`", "GRANT INSERT ON `s_1`.* TO `u`@`%`"])
    assert grants.allows("INSERT", "app_2025")
    assert not grants.allows("INSERT", "appx2025"), "an escaped _ is a literal underscore"
    assert grants.allows("INSERT", "s_1") and grants.allows("INSERT", "sx1"), "an unescaped _ is any one character"
    assert not grants.allows("INSERT", "s_12")


def test_roles_are_noticed_not_expanded() -> None:
    grants = parse_grants(["GRANT USAGE ON *.* TO `u`@`%`", "GRANT `loader_role`@`%` TO `u`@`%`"])
    assert grants.has_roles and not grants.allows("INSERT", "app")
