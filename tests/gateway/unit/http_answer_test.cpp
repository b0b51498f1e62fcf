// The upstream's answer as the gateway's client reads it (gateway/http_answer.*): RFC 9112 §4 status line,
// §5 header fields, §6.3 how the body's length is known, §7.1 chunked coding, §9.3 persistence.
#include "gateway/http_answer.hpp"

#include <gtest/gtest.h>

namespace estgw::gateway {
namespace {

AnswerHead parsed(std::string_view text) {
    AnswerHead head;
    auto bad = parse_answer_head(text, head);
    EXPECT_FALSE(bad.has_value()) << *bad;
    return head;
}

std::string refusal(std::string_view text) {
    AnswerHead head;
    return parse_answer_head(text, head).value_or("");
}

TEST(AnswerHead, StatusHeadersAndContentLengthAreRead) {
    auto head = parsed("HTTP/1.1 200 OK\r\nContent-Type: application/pkcs7-mime\r\nContent-Length: 12\r\n");
    EXPECT_EQ(head.response.status, 200);
    EXPECT_EQ(head.response.header("content-type"), "application/pkcs7-mime");
    ASSERT_TRUE(head.content_length);
    EXPECT_EQ(*head.content_length, 12u);
    EXPECT_FALSE(head.chunked);
    EXPECT_FALSE(head.close);
}

TEST(AnswerHead, AStatusLineWithoutReasonIsAccepted) {
    EXPECT_EQ(parsed("HTTP/1.1 204\r\n").response.status, 204);
}

TEST(AnswerHead, HeaderNamesAreCaseInsensitiveAndValuesTrimmed) {
    auto head = parsed("HTTP/1.1 200 OK\r\ncONTENT-lENGTH:   5  \r\ntRANSFER-eNCODING: chunked\r\n");
    EXPECT_EQ(head.content_length, 5u);
    EXPECT_TRUE(head.chunked);
}

// RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
TEST(AnswerHead, ConnectionCloseEndsAnHttp11Connection) {
    EXPECT_TRUE(parsed("HTTP/1.1 200 OK\r\nConnection: close\r\n").close);
}

TEST(AnswerHead, Http10ClosesUnlessKeepAlive) {
    EXPECT_TRUE(parsed("HTTP/1.0 200 OK\r\n").close);
    EXPECT_FALSE(parsed("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n").close);
}

TEST(AnswerHead, SomethingElseThanAStatusLineIsRefused) {
    EXPECT_NE(refusal("SSH-2.0-OpenSSH\r\n").find("status line"), std::string::npos);
    EXPECT_NE(refusal("HTTP/1.1 2x0 OK\r\n").find("status code"), std::string::npos);
    EXPECT_NE(refusal("HTTP/1.1 2000 OK\r\n").find("status line"), std::string::npos);
}

TEST(AnswerHead, AHeaderLineWithoutColonIsRefused) {
    EXPECT_NE(refusal("HTTP/1.1 200 OK\r\nno colon here\r\n").find("malformed header"), std::string::npos);
}

// RFC 9112 §6.3: differing Content-Length values are an error, not a choice.
TEST(AnswerHead, ConflictingOrInvalidContentLengthsAreRefused) {
    EXPECT_NE(refusal("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n").find("Content-Length"),
              std::string::npos);
    EXPECT_NE(refusal("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n").find("Content-Length"), std::string::npos);
    EXPECT_NE(refusal("HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n").find("too large"),
              std::string::npos);
}

TEST(ChunkedBody, ChunksAreJoinedAndTheBytesTakenCounted) {
    const std::string wire = "4\r\nMIIB\r\n3;ext=1\r\nxyz\r\n0\r\n\r\nHTTP/1.1 next";
    auto decoded = decode_chunked(wire);
    auto* done = std::get_if<std::pair<std::string, std::size_t>>(&decoded);
    ASSERT_NE(done, nullptr);
    EXPECT_EQ(done->first, "MIIBxyz");
    EXPECT_EQ(wire.substr(done->second), "HTTP/1.1 next");
}

TEST(ChunkedBody, TrailersAreSkipped) {
    auto decoded = decode_chunked("2\r\nab\r\n0\r\nX-Trailer: 1\r\n\r\n");
    auto* done = std::get_if<std::pair<std::string, std::size_t>>(&decoded);
    ASSERT_NE(done, nullptr);
    EXPECT_EQ(done->first, "ab");
}

TEST(ChunkedBody, AnIncompleteBodyAsksForMore) {
    for (const char* partial : {"", "4\r\nMI", "4\r\nMIIB\r\n", "4\r\nMIIB\r\n0\r\n"}) {
        EXPECT_TRUE(std::holds_alternative<std::monostate>(decode_chunked(partial))) << partial;
    }
}

TEST(ChunkedBody, MalformedSizesAndChunksAreRefused) {
    EXPECT_TRUE(std::holds_alternative<std::string>(decode_chunked("zz\r\nab\r\n0\r\n\r\n")));
    EXPECT_TRUE(std::holds_alternative<std::string>(decode_chunked("2\r\nabc\r\n0\r\n\r\n")));
    EXPECT_TRUE(std::holds_alternative<std::string>(decode_chunked("ffffffffff\r\n")));
}

}  // namespace
}  // namespace estgw::gateway
