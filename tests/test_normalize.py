"""Documents follow the contracts: stable ids, hashed authors, masked handles, honoured deletions."""

from __future__ import annotations

from miner.collect.normalize import canonical_url, news_article, news_doc_id, reddit_comment, reddit_submission
from miner.collect.pseudonyms import Pseudonymizer

P = Pseudonymizer(b"k1")


def t3(**over):
    base = {"id": "abc123", "name": "t3_abc123", "author": "Sad_Otter_88", "title": "Claude said no",
            "selftext": "thanks u/helpful_friend and /u/Other-Person for the tip", "subreddit": "anxiety",
            "created_utc": 1700000000.0, "score": 5, "num_comments": 2, "permalink": "/r/anxiety/comments/abc123/x/",
            "url": "https://www.reddit.com/r/anxiety/comments/abc123/x/", "over_18": False}
    base.update(over)
    return base


def test_submission_ids_authors_and_handles():
    d = reddit_submission(t3(), P)
    assert d.doc_id == "reddit:t3_abc123" and d.kind == "submission" and d.community == "anxiety"
    assert d.author_hash == P.author("sad_otter_88")  # case-insensitive, keyed
    assert "Sad_Otter_88" not in repr(vars(d))
    assert "helpful_friend" not in d.body and "Other-Person" not in d.body
    assert d.body.count("u/anon_") == 2
    assert d.created_at.isoformat() == "2023-11-14T22:13:20"


def test_the_same_handle_masks_the_same_way_and_keys_differ_per_installation():
    a = P.mask_handles("ask u/helpful_friend")
    b = P.mask_handles("u/Helpful_Friend said")
    assert a.split("u/")[1][:13] == b.split("u/")[1][:13]
    assert Pseudonymizer(b"k2").author("x_user") != P.author("x_user")


def test_deleted_and_removed_posts_keep_ids_not_text():
    deleted = reddit_submission(t3(selftext="[deleted]", author="[deleted]"), P)
    removed = reddit_submission(t3(selftext="[removed]", removed_by_category="moderator"), P)
    assert (deleted.state, deleted.body, deleted.title, deleted.author_hash) == ("deleted", None, None, None)
    assert removed.state == "removed" and removed.body is None and removed.doc_id == "reddit:t3_abc123"


def test_crosspost_points_at_its_parent():
    d = reddit_submission(t3(crosspost_parent="t3_zzz999"), P)
    assert d.crosspost_parent == "reddit:t3_zzz999"


def test_comment_links_to_thread_and_parent():
    c = reddit_comment({"id": "c1", "name": "t1_c1", "body": "same here u/sad_otter_88", "author": "x_y_z",
                        "link_id": "t3_abc123", "parent_id": "t1_c0", "created_utc": "1700000100",
                        "subreddit": "anxiety"}, P)
    assert c.doc_id == "reddit:t1_c1" and c.thread_id == "reddit:t3_abc123" and c.parent_id == "reddit:t1_c0"
    assert "sad_otter_88" not in c.body
    assert c.created_at is not None  # numeric strings (old dumps) still parse


def test_news_ids_use_the_canonical_url():
    a = "https://www.Example.com/2024/05/story/?utm_source=x&id=7#top"
    b = "https://example.com/2024/05/story?id=7"
    assert canonical_url(a) == canonical_url(b) == "https://example.com/2024/05/story?id=7"
    assert news_doc_id(a) == news_doc_id(b)
    art = {"source": {"id": None, "name": "Paper"}, "author": "Jo Writer", "title": "T", "description": "D",
           "url": a, "publishedAt": "2024-05-02T09:30:00Z", "content": "D more text… [+300 chars]"}
    d = news_article(art, P)
    assert d.doc_id == news_doc_id(b) and d.author_hash and "Jo Writer" not in repr(vars(d))
    assert "[+300 chars]" not in d.body


def test_removed_news_items_are_skipped():
    removed = {"source": {"id": None, "name": "[Removed]"}, "author": None, "title": "[Removed]",
               "description": "[Removed]", "url": "https://removed.com", "publishedAt": "1970-01-01T00:00:00Z",
               "content": "[Removed]"}
    assert news_article(removed, P) is None


def test_scrub_hashes_every_author_field_in_a_payload():
    payload = {"data": {"children": [{"kind": "t3", "data": t3()}]}}
    s = P.scrub(payload)
    text = repr(s)
    assert "Sad_Otter_88" not in text and "helpful_friend" not in text
    assert s["data"]["children"][0]["data"]["author"] == P.author("Sad_Otter_88")
