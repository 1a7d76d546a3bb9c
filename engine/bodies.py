"""Who is responsible on a given date, across reorganisations (bodies ending, successors)."""

from __future__ import annotations

import datetime as dt

from engine.definitions.models import (
    Body,
    Definitions,
    Obligation,
    RoleHolder,
    Target,
    is_placeholder_address,
)


def holder_covers(holder: RoleHolder, on: dt.date) -> bool:
    """Whether a role holder's dated entry covers the day."""
    return (holder.valid_from is None or holder.valid_from <= on) and (
        holder.valid_to is None or on <= holder.valid_to
    )


def group_members(defs: Definitions, group_id: str, on: dt.date) -> list[Body]:
    """Bodies carrying the group and existing on the day, sorted by id."""
    return sorted(
        (body for body in defs.bodies.values() if group_id in body.groups and body.exists_on(on)),
        key=lambda body: body.id,
    )


def successors_on(defs: Definitions, body_id: str, on: dt.date) -> list[Body]:
    """The body itself while it exists; once ended, whoever took over its duties on that day."""
    return _expand(defs, body_id, on, set())


def _expand(defs: Definitions, body_id: str, on: dt.date, seen: set[str]) -> list[Body]:
    body = defs.bodies.get(body_id)
    if body is None or body_id in seen:
        return []
    if body.exists_on(on):
        return [body]
    if body.valid_to is None or on <= body.valid_to:
        return []  # not created yet: nobody inherits the duties of a future body
    seen.add(body_id)
    found: list[Body] = []
    for successor in body.successors:
        if successor.body is not None:
            found.extend(_expand(defs, successor.body, on, seen))
        elif successor.group is not None:
            found.extend(group_members(defs, successor.group, on))
    return found


def role_holder(defs: Definitions, role_id: str, on: dt.date) -> Body | None:
    """The body holding a role on the day; a holder that has ended hands over to the successor
    that lists the role in its `roles`."""
    role = defs.roles.get(role_id)
    if role is None:
        return None
    for holder in role.holders:
        if holder_covers(holder, on):
            return _acting(defs, holder.body, role_id, on, set())
    return None


def _acting(
    defs: Definitions, body_id: str, role_id: str, on: dt.date, seen: set[str]
) -> Body | None:
    body = defs.bodies.get(body_id)
    if body is None or body_id in seen:
        return None
    if body.exists_on(on):
        return body
    if body.valid_to is None or on <= body.valid_to:
        return None
    seen.add(body_id)
    for successor in body.successors:
        if successor.body is not None and role_id in successor.roles:
            acting = _acting(defs, successor.body, role_id, on, seen)
            if acting is not None:
                return acting
    return None


def resolve_responsible(defs: Definitions, obligation: Obligation, on: dt.date) -> list[Body]:
    """The bodies owing the obligation on the day: listed bodies (or their successors), group
    members and role holders, minus `exclude`; sorted by id, each once."""
    responsible = obligation.responsible
    found: dict[str, Body] = {}
    for body_id in responsible.bodies:
        found.update((body.id, body) for body in successors_on(defs, body_id, on))
    for group_id in responsible.groups:
        found.update((body.id, body) for body in group_members(defs, group_id, on))
    for role_id in responsible.roles:
        holder = role_holder(defs, role_id, on)
        if holder is not None:
            found[holder.id] = holder
    for body_id in responsible.exclude:
        found.pop(body_id, None)
    return [found[body_id] for body_id in sorted(found)]


def resolve_target(
    defs: Definitions, target: Target, assignee: Body | None, on: dt.date
) -> list[str]:
    """Email addresses a target stands for on the day: a role's or a body's `to` mailboxes, or
    the assignee's own head/cc mailboxes."""
    if target.role is not None:
        holder = role_holder(defs, target.role, on)
        bodies = [holder] if holder is not None else []
    elif target.body is not None:
        bodies = successors_on(defs, target.body, on)
    else:
        if assignee is None:
            return []
        mailboxes = assignee.mailboxes
        return list(dict.fromkeys(mailboxes.head if target.mailbox == "head" else mailboxes.cc))
    return list(dict.fromkeys(address for body in bodies for address in body.mailboxes.to))


def placeholder_bodies(defs: Definitions, on: dt.date) -> list[Body]:
    """Bodies existing on the day with a mailbox still on the reserved `.example` domain."""
    return [
        body
        for body in defs.bodies.values()
        if body.exists_on(on)
        and any(
            is_placeholder_address(address)
            for address in (*body.mailboxes.to, *body.mailboxes.head, *body.mailboxes.cc)
        )
    ]
