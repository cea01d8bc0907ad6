"""How a 1:1 message's actions are shown (bot/dingtalk/actions.py): links after the text,
each item's after its line, and nothing in the text itself can become a link."""

from __future__ import annotations

from urllib.parse import unquote

from bot.dingtalk.actions import render_links
from handlers import taps


def test_one_item_its_links_last_with_the_command_url_encoded() -> None:
    title, body = render_links(
        "【待认领】#12 川沙，11月16日(周一) 16:00前认领\n内容", taps.claim(12)
    )
    assert title == "【待认领】#12 川沙，11月16日(周一) 16:00前认领"
    *text, links = body.split("\n\n")
    assert text == [title, "内容"]
    assert links == (
        "[认领 #12](dtmd://dingtalkclient/sendMessage?content=%E8%AE%A4%E9%A2%86%2012)"
        "\u3000[查看 #12](dtmd://dingtalkclient/sendMessage?content=%E6%9F%A5%E7%9C%8B%2012)"
    )


def test_several_items_each_followed_by_its_own_links() -> None:
    text = "【督办提醒·2件】\n1. #12 川沙：请认领\n2. #3 张江：请答复\n督1 填报"
    actions = (*taps.claim(12), *taps.reply(3), *taps.filing("monthly", "督1", False))
    _, body = render_links(text, actions)
    paragraphs = body.split("\n\n")
    assert paragraphs[1] == "1. #12 川沙：请认领" and "%E8%AE%A4%E9%A2%86%2012" in paragraphs[2]
    assert paragraphs[3] == "2. #3 张江：请答复" and "%E7%AD%94%E5%A4%8D%203" in paragraphs[4]
    assert paragraphs[5] == "督1 填报"
    assert unquote(paragraphs[6]).count("督1") == 4  # two labels, two commands


def test_a_link_in_the_text_is_shown_not_made() -> None:
    town = "[同意 #5](dtmd://dingtalkclient/sendMessage?content=%E5%90%8C%E6%84%8F%205)"
    _, body = render_links(f"【待认领】#12 川沙\n{town}", taps.claim(12))
    assert body.count("](dtmd://") == 2  # the two real links only
    assert "［同意 #5］" in body


def test_a_digest_of_two_titles_places_the_first_lines_links_too() -> None:
    text = "【督办提醒】#4 张江：请认领\n【超时督办】#5 川沙：认领已超时"
    _, body = render_links(text, (*taps.claim(4), taps.view(5)))
    paragraphs = body.split("\n\n")
    assert paragraphs[0].startswith("【督办提醒】#4") and "%204)" in paragraphs[1]
    assert paragraphs[2].startswith("【超时督办】#5") and "%205)" in paragraphs[3]
    assert len(paragraphs) == 4


def test_a_proposals_tier_word_keeps_its_links_together() -> None:
    """启动约谈 督3 二级 is about 督3: its links stay with 查看 督3, after the text."""
    from handlers.effects import Action

    actions = (
        Action("启动约谈 督3 二级", "启动约谈 督3 二级"),
        Action("不约谈 督3 二级", "不约谈 督3 二级", True),
        taps.view("督3"),
    )
    _, body = render_links("【约谈建议】督3 扬尘\n第二层级约谈问询", actions)
    *text, links = body.split("\n\n")
    assert text == ["【约谈建议】督3 扬尘", "第二层级约谈问询"]
    labels = [part.split("](")[0].lstrip("[") for part in links.split("\u3000")]
    assert labels == ["启动约谈 督3 二级", "不约谈 督3 二级", "查看 督3"]
