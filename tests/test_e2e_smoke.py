from __future__ import annotations

from introbot.model import Stage
from tests.world import REQUEST, World


def test_happy_path(world: World) -> None:
    request = world.request(REQUEST)
    world.poll()
    intro = world.only_intro()
    assert intro.stage is Stage.ASKING
    assert len(world.drafts()) == 2
    world.send_drafts()
    world.poll()
    world.reply("Alex Kim <alex.kim@tidepool.io>", "Yes please! I'm building cold-chain sensors.")
    world.reply("Dana Whitfield <dana@northwind.example>", "Yes, happy to. Email is best.")
    world.poll()
    intro = world.only_intro()
    assert intro.stage is Stage.READY, intro
    joint = [d for d in world.drafts() if "Intro:" in d["subject"]]
    assert len(joint) == 1
    world.send_drafts()
    world.poll()
    assert world.only_intro().stage is Stage.INTRODUCED
    assert "introbot/introduced" in world.thread_labels(request["threadId"])
    stats = world.control.stats()
    assert "drafts.send" not in stats["by_method"] and "messages.send" not in stats["by_method"]
