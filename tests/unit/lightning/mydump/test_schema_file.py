"""The DDL of schema files: statements found and names rewritten as the TiDB parser reads them."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.mydump.schema_file import (
    rewrite_create_database,
    rewrite_create_table,
    rewrite_create_view,
    split_statements,
    statement_kind,
)


@pytest.mark.parametrize(
    ("statement", "rewritten"),
    [
        ("CREATE TABLE t (id INT)", "CREATE TABLE IF NOT EXISTS `d`.`x` (id INT)"),
        ("create table `t` (id int)", "CREATE TABLE IF NOT EXISTS `d`.`x` (id int)"),
        ("CREATE TABLE IF NOT EXISTS src.t (id INT)", "CREATE TABLE IF NOT EXISTS `d`.`x` (id INT)"),
        # unquoted non-ASCII names, as the TiDB parser accepts them
        ("create table 中文表 (编号 int)", "CREATE TABLE IF NOT EXISTS `d`.`x` (编号 int)"),
        ("CREATE TABLE 库.表_1$ (a INT)", "CREATE TABLE IF NOT EXISTS `d`.`x` (a INT)"),
        ("CREATE TABLE `a``b` (a INT)", "CREATE TABLE IF NOT EXISTS `d`.`x` (a INT)"),
        ("CREATE TABLE 1t (a INT)", "CREATE TABLE IF NOT EXISTS `d`.`x` (a INT)"),
        # mysqldump / mydumper's version comment
        ("CREATE TABLE /*!32312 IF NOT EXISTS*/ `t` (a INT)", "CREATE TABLE IF NOT EXISTS `d`.`x` (a INT)"),
    ],
)
def test_create_table_names(statement, rewritten):
    assert statement_kind(statement.encode()) == "create-table"
    assert rewrite_create_table(statement.encode(), "d", "x").decode() == rewritten


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE DATABASE 中文库",
        "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `src` /*!40100 DEFAULT CHARACTER SET utf8mb4 */",
        "create schema if not exists s",
        "CREATE DATABASE `s`",
    ],
)
def test_create_database_names(statement):
    assert statement_kind(statement.encode()) == "create-database"
    rewritten = rewrite_create_database(statement.encode(), "目标").decode()
    assert rewritten.startswith("CREATE DATABASE IF NOT EXISTS `目标`")
    assert rewrite_create_database(statement.encode(), "t").endswith(
        b" /*!40100 DEFAULT CHARACTER SET utf8mb4 */" if "40100" in statement else b"`t`")


def test_create_view_with_a_non_ascii_name():
    statement = "CREATE ALGORITHM=UNDEFINED DEFINER=`u`@`%` SQL SECURITY DEFINER VIEW 视图 AS SELECT 1 AS 列"
    assert statement_kind(statement.encode()) == "create-view"
    assert rewrite_create_view(statement.encode(), "d", "v").decode() == (
        "CREATE OR REPLACE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `d`.`v` AS SELECT 1 AS 列")


def test_statements_split_around_non_ascii_names_and_comments():
    data = "/* dump */\nSET NAMES utf8mb4;\nCREATE TABLE 表 (`;` INT COMMENT '；;');\n".encode()
    assert [statement_kind(s) for _, s in split_statements(data)] == ["set", "create-table"]
