"""Layer 1: the SSE decoder, rule by rule (WHATWG event-stream interpretation)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_chatsse.sansio import Comment, EventTooLargeError, ServerSentEvent, SSEDecoder

from .helpers import splittings


def decode(body: bytes, **options: int) -> list[ServerSentEvent | Comment]:
    """Decode ``body`` every way (whole, byte by byte, ...); demand the same output."""
    results = []
    for chunks in splittings(body):
        decoder = SSEDecoder(**options)
        out = [item for piece in chunks for item in decoder.feed(piece)]
        out += decoder.end()
        results.append(out)
    assert all(r == results[0] for r in results)
    return results[0]


def data_of(body: bytes) -> list[str]:
    return [e.data for e in decode(body) if isinstance(e, ServerSentEvent)]


class TestLineEnds:
    def test_lf(self) -> None:
        assert data_of(b"data: a\n\ndata: b\n\n") == ["a", "b"]

    def test_crlf(self) -> None:
        assert data_of(b"data: a\r\n\r\ndata: b\r\n\r\n") == ["a", "b"]

    def test_lone_cr(self) -> None:
        assert data_of(b"data: a\r\rdata: b\r\r") == ["a", "b"]

    def test_mixed_line_ends(self) -> None:
        assert data_of(b"data: a\r\n\ndata: b\r\rdata: c\n\r\n") == ["a", "b", "c"]

    def test_cr_at_end_of_one_feed_and_lf_at_start_of_next_is_one_line_end(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\r") == []
        assert decoder.feed(b"\n") == []  # the LF belongs to the CR: not a blank line
        assert decoder.feed(b"\r\n") == [ServerSentEvent(data="a")]

    def test_cr_then_lf_then_more_in_next_feed(self) -> None:
        decoder = SSEDecoder()
        decoder.feed(b"data: a\r")
        assert decoder.feed(b"\n\ndata: b\n\n") == [
            ServerSentEvent(data="a"),
            ServerSentEvent(data="b"),
        ]


class TestFields:
    def test_space_after_colon_is_stripped_once(self) -> None:
        assert data_of(b"data:  two spaces\n\n") == [" two spaces"]

    def test_no_space_after_colon(self) -> None:
        assert data_of(b"data:x\n\n") == ["x"]

    def test_multi_line_data_joined_with_newline(self) -> None:
        assert data_of(b"data: a\ndata: b\ndata:\n\n") == ["a\nb\n"]

    def test_field_with_no_colon_is_the_whole_line_with_empty_value(self) -> None:
        assert data_of(b"data\n\n") == [""]

    def test_event_id_and_retry(self) -> None:
        (event,) = decode(b"event: delta\nid: 7\nretry: 1500\ndata: x\n\n")
        assert event == ServerSentEvent(event="delta", data="x", id="7", retry=1500)

    def test_last_event_id_is_kept_across_events(self) -> None:
        first, second = decode(b"id: 1\ndata: a\n\ndata: b\n\n")
        assert isinstance(second, ServerSentEvent)
        assert (first, second.id) == (ServerSentEvent(data="a", id="1"), "1")

    def test_id_with_nul_is_ignored(self) -> None:
        (event,) = decode(b"id: a\x00b\ndata: x\n\n")
        assert isinstance(event, ServerSentEvent)
        assert event.id == ""

    def test_retry_belongs_to_one_event_only(self) -> None:
        decoder = SSEDecoder()
        decoder.feed(b"data: warm-up\n\n")  # past the start of the stream
        assert decoder.feed(b"retry: 3000\n") == []
        assert decoder.feed(b"data: a\n\n") == [ServerSentEvent(data="a", retry=3000)]
        assert decoder.feed(b"data: b\n\n") == [ServerSentEvent(data="b")]

    def test_non_integer_retry_is_ignored(self) -> None:
        (event,) = decode(b"retry: 1.5\ndata: x\n\n")
        assert isinstance(event, ServerSentEvent)
        assert event.retry is None

    def test_event_type_resets_after_dispatch(self) -> None:
        first, second = decode(b"event: a\ndata: 1\n\ndata: 2\n\n")
        assert isinstance(first, ServerSentEvent)
        assert isinstance(second, ServerSentEvent)
        assert (first.event, second.event) == ("a", "message")

    def test_unknown_fields_are_ignored(self) -> None:
        assert data_of(b"foo: bar\ndata: x\n\n") == ["x"]

    def test_event_without_data_is_not_dispatched(self) -> None:
        assert decode(b"event: ping\n\n") == []


class TestCommentsAndFraming:
    def test_comment_is_reported(self) -> None:
        assert decode(b": keep-alive\n\n") == [Comment("keep-alive")]

    def test_comment_between_data_lines_does_not_break_the_event(self) -> None:
        assert decode(b"data: a\n:ping\ndata: b\n\n") == [
            Comment("ping"),
            ServerSentEvent(data="a\nb"),
        ]

    def test_dispatch_only_at_blank_line(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\n") == []
        assert decoder.feed(b"\n") == [ServerSentEvent(data="a")]

    def test_unterminated_event_at_end_is_dropped(self) -> None:
        assert data_of(b"data: a\n\ndata: b\n") == ["a"]
        assert data_of(b"data: a\n\ndata: b") == ["a"]

    def test_leading_bom_is_stripped(self) -> None:
        assert data_of(b"\xef\xbb\xbfdata: a\n\n") == ["a"]

    def test_bom_only_at_start(self) -> None:
        body = b"data: a\n\n\xef\xbb\xbfdata: b\n\n"
        assert data_of(body) == ["a"]  # the second line's field is "\ufeffdata": unknown


class TestUtf8:
    def test_character_split_across_feeds(self) -> None:
        body = "data: héllo ✓ 🎉\n\n".encode()
        assert data_of(body) == ["héllo ✓ 🎉"]  # data_of feeds byte by byte too

    def test_invalid_utf8_is_replaced(self) -> None:
        assert data_of(b"data: a\xffb\n\n") == ["a\ufffdb"]


class TestSizeLimit:
    def test_a_long_line_without_newline_sets_the_error(self) -> None:
        decoder = SSEDecoder(max_event_size=100)
        assert decoder.feed(b"data: " + b"x" * 60) == []
        assert decoder.error is None
        assert decoder.feed(b"x" * 60) == []
        assert isinstance(decoder.error, EventTooLargeError)
        assert decoder.error.limit == 100

    def test_events_before_the_overflow_come_out(self) -> None:
        decoder = SSEDecoder(max_event_size=100)
        assert decoder.feed(b"data: ok\n\ndata: " + b"x" * 200) == [ServerSentEvent(data="ok")]
        assert isinstance(decoder.error, EventTooLargeError)
        assert decoder.feed(b"\n\ndata: more\n\n") == []

    def test_many_data_lines_count_toward_the_limit(self) -> None:
        decoder = SSEDecoder(max_event_size=100)
        decoder.feed(b"data: 0123456789\n" * 20)
        assert isinstance(decoder.error, EventTooLargeError)

    def test_limit_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="positive"):
            SSEDecoder(max_event_size=0)

    def test_dripped_huge_line_is_linear(self) -> None:
        decoder = SSEDecoder(max_event_size=10_000_000)
        for _ in range(100_000):
            decoder.feed(b"xxxxxxxxxx")
        assert decoder.feed(b"\n\n") == []  # "xxxx..." is an unknown field


@given(st.lists(st.binary(max_size=40), max_size=30))
def test_arbitrary_bytes_never_raise(pieces: list[bytes]) -> None:
    decoder = SSEDecoder(max_event_size=64)
    for piece in pieces:
        for item in decoder.feed(piece):
            assert isinstance(item, (ServerSentEvent, Comment))
    decoder.end()


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=12))
def test_any_split_gives_the_same_events(body: bytes, cuts: list[int]) -> None:
    points = sorted({min(c, len(body)) for c in cuts})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    whole, split = SSEDecoder(), SSEDecoder()
    expected = whole.feed(body) + whole.end()
    assert [e for p in pieces for e in split.feed(p)] + split.end() == expected


_FIELD_TEXT = st.text(st.characters(blacklist_characters="\r\n", codec="utf-8"), max_size=12)
_LINE = st.one_of(
    st.tuples(st.sampled_from(["data:", "data: ", "data:  ", "data"]), _FIELD_TEXT),
    st.tuples(st.sampled_from(["event:", "event: ", "event"]), _FIELD_TEXT),
    st.tuples(st.sampled_from(["id: ", "retry: ", ": ", ":"]), _FIELD_TEXT),
    st.tuples(st.sampled_from(["retry: "]), st.integers(0, 9999).map(str)),
)


_EVENT = st.one_of(
    # What servers write: "event:" then "data:", or "data:" alone ...
    st.tuples(
        st.sampled_from(["event:", "event: ", "event:  "]),
        _FIELD_TEXT,
        st.sampled_from(["data:", "data: ", "data:  "]),
        _FIELD_TEXT,
    ).map(lambda t: [(t[0], t[1]), (t[2], t[3])]),
    st.tuples(st.sampled_from(["data:", "data: ", "data:  "]), _FIELD_TEXT).map(lambda t: [t]),
    # ... and anything else.
    st.lists(_LINE, max_size=4),
)


@given(st.lists(_EVENT, max_size=8))
def test_one_event_per_feed_is_the_same_as_byte_by_byte(
    events: list[list[tuple[str, str]]],
) -> None:
    # Servers write one event at a time, which the decoder reads on its fast paths
    # ("data: ..." alone, or "event: ..." then "data: ..."); fed byte by byte the same
    # events take the general path. Both must agree, whatever the events hold.
    chunks = [b": start\n\n"]  # past the start of the stream, where a BOM may be
    for lines in events:
        chunks.append("".join(f"{field}{value}\n" for field, value in lines).encode() + b"\n")
    per_event, per_byte = SSEDecoder(), SSEDecoder()
    fast = [item for chunk in chunks for item in per_event.feed(chunk)]
    body = b"".join(chunks)
    slow = [item for i in range(len(body)) for item in per_byte.feed(body[i : i + 1])]
    assert fast == slow


@pytest.mark.parametrize(
    ("chunk", "expected"),
    [
        (b"event: a\ndata: {}\n\n", ServerSentEvent("a", "{}")),
        (b"event:a\ndata:{}\n\n", ServerSentEvent("a", "{}")),
        (b"event:\ndata: x\n\n", ServerSentEvent("message", "x")),
        (b"event: a\ndata:\n\n", ServerSentEvent("a", "")),
        (b"event:  a\ndata:  x\n\n", ServerSentEvent(" a", " x")),
        ("event: é\ndata: ü\n\n".encode(), ServerSentEvent("é", "ü")),
    ],
)
def test_event_and_data_in_one_write(chunk: bytes, expected: ServerSentEvent) -> None:
    decoder = SSEDecoder()
    decoder.feed(b": warm\n\n")
    assert decoder.feed(chunk) == [expected]
