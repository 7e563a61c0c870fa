import sqlite3

import pytest
from genesis_agents.infrastructure.errors import NotFoundError
from genesis_agents.safety import AuditLog, AuditRecord
from genesis_agents.safety.audit import RevisionRecord


def _record(**kw) -> AuditRecord:
    base = {"action": "revised", "kind": "unsafe_response", "labels": ["unsafe_response:cyber_harm"],
            "agent": "coder", "run_id": "run_1", "dir_reward": 0.7,
            "revisions": [RevisionRecord(round=1, method="decline", kind_before="unsafe_response",
                                         kind_after="unsafe_request", score_before=0.1, score_after=0.8, dir=0.7,
                                         accepted=True, text="I can't help with that.")]}
    base.update(kw)
    return AuditRecord(**base)


def test_append_query_and_filters(tmp_path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite")
    first = log.append(_record())
    log.append(_record(action="passed", kind="safe", labels=["safe"], agent="analyst", dir_reward=None, revisions=[]))
    assert [r.id for r in log.query(agent="coder")] == [first]
    assert len(log.query(label="unsafe_response")) == 1
    assert len(log.query(kind="safe")) == 1
    got = log.query(run_id="run_1", limit=10)
    assert len(got) == 2 and got[-1].revisions[0].method == "decline"
    stats = log.stats()
    assert stats["verdicts"] == 2 and stats["by_action"] == {"passed": 1, "revised": 1} and stats["mean_dir"] == 0.7


def test_log_is_append_only_and_tamper_evident(tmp_path) -> None:
    path = tmp_path / "audit.sqlite"
    log = AuditLog(path)
    rid = log.append(_record())
    log.append(_record())
    assert log.verify()
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE verdicts SET action='passed' WHERE id=?", (rid,))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM verdicts")
    # someone with file access drops the trigger and edits a row: the hash chain shows it
    raw.execute("DROP TRIGGER verdicts_no_update")
    raw.execute("UPDATE verdicts SET action='passed' WHERE id=?", (rid,))
    raw.commit()
    raw.close()
    assert not log.verify()


def test_corrections(tmp_path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite")
    rid = log.append(_record())
    log.record_correction(rid, accepted=False, user="ana", note="the request was about a CTF lab")
    assert log.query()[0].corrections[0]["accepted"] is False
    assert log.stats()["feedback_accept_rate"] == 0.0
    with pytest.raises(NotFoundError):
        log.record_correction("aud_missing", accepted=True)
