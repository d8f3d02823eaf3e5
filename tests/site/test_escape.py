"""Escaping for HTML text, attributes and URLs, and the Markdown subset: hand-written expected strings."""

from __future__ import annotations

from benchmark.site import escape
from benchmark.site.markdown import inline, to_html


def test_text_escapes_markup_quotes_and_controls():
    assert escape.text("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    assert escape.text("a & b") == "a &amp; b"
    assert escape.text("&amp;") == "&amp;amp;"
    assert escape.text("say \"hi\" it's") == "say &quot;hi&quot; it&#x27;s"
    assert escape.text("line\nbreak\x00\u2028end") == "line break  end"
    assert escape.text(3.5) == "3.5"


def test_attr_cannot_leave_a_double_or_single_quoted_value():
    assert escape.attr('x" onerror="alert(1)') == "x&quot; onerror=&quot;alert(1)"
    assert escape.attr("x' onmouseover='y") == "x&#x27; onmouseover=&#x27;y"


def test_text_block_keeps_line_breaks_only():
    assert escape.text_block("a<\nb\t>") == "a&lt;\nb &gt;"


def test_https_url_accepts_plain_https_links():
    assert escape.https_url("https://github.com/me/my-method") == "https://github.com/me/my-method"
    assert escape.https_url("https://example.org/a?b=1&c=2#x") == "https://example.org/a?b=1&amp;c=2#x"
    assert escape.https_url("https://example.org/it's") == "https://example.org/it&#x27;s"


def test_https_url_refuses_everything_else():
    for url in ("javascript:alert(1)", "http://example.org", "data:text/html,<b>", "//example.org/x",
                "https://example.org/\"><script>", "https://exa mple.org", "https://user:pw@example.org/",
                "https:///path", " https://example.org", "https://example.org/\\x", "https://example.org/%zz",
                "HTTPS://example.org", "grbench:raddpo", "", None, 3):
        assert escape.https_url(url) is None, url


def test_path_url_encodes_each_segment():
    assert escape.path_url("..", "files", "a b", "x/y.json") == "../files/a%20b/x%2Fy.json"
    assert escape.path_url("<x>\"") == "%3Cx%3E%22"


def test_markdown_inline_subset_and_nothing_else():
    assert inline("**bold** *it* <u>u</u> `a<b`") == "<strong>bold</strong> <em>it</em> <u>u</u> <code>a&lt;b</code>"
    assert inline("<script>x</script> &#124; &amp;") == "&lt;script&gt;x&lt;/script&gt; | &amp;"
    assert inline("[t](https://a.org/x)", escape.https_url) == '<a href="https://a.org/x">t</a>'
    assert inline("[t](javascript:void)", escape.https_url) == "t"
    assert inline("[t](table1.md)") == "t"


def test_markdown_blocks():
    source = "# Title\n\n| a | b |\n|:---|---:|\n| x | 1 |\n\n- one\n- two\n\npara\ngraph\n"
    assert to_html(source) == (
        "<h2>Title</h2>\n"
        '<div class="scroll"><table class="md"><thead><tr><th>a</th><th class="num">b</th></tr></thead>'
        '<tbody><tr><td>x</td><td class="num">1</td></tr></tbody></table></div>\n'
        "<ul><li>one</li><li>two</li></ul>\n"
        "<p>para graph</p>\n"
    )
