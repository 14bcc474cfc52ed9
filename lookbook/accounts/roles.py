"""The one place that knows the roles. Every endpoint names the roles it admits (see ``lookbook.web.api``)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"


# Where each role lands after login.
HOME = {Role.CUSTOMER: "/account", Role.ADMIN: "/admin"}
