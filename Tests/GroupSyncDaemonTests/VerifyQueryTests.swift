import HummingbirdCore
import Testing
import Verification
@testable import GroupSyncDaemon

@Suite("The verify query read byte by byte agrees with Hummingbird's reading")
struct VerifyQueryTests {
    typealias Query = APIRoutes.VerifyQuery

    static func router(_ target: String) -> Query? {
        let uri = URI(target)
        return uri.path == APIRoutes.verifyPath ? Query(uri.queryParameters) : nil
    }

    @Test(
        "usual questions are read without Hummingbird's parse, with the same result",
        arguments: [
            "/v1/verify?user=u123&policy=Permitted%20Senders&group=g123",
            "/v1/verify?user=alice&group=Sales&group=cn%3DSales%2Cou%3Dgroups%2Cdc%3Dexample%2Cdc%3Dcom&profile_group=VIPs",
            "/v1/verify?group=g1&user=bob&user=carol&policy=P",
            "/v1/verify?user=alice%40example.com&live=true",
            "/v1/verify?user=alice&live=false&live=true",
            "/v1/verify?user=J%C3%BCrgen&group=%E2%9C%93",
            "/v1/verify?user=alice&group=",
            "/v1/verify?user=alice&group",
            "/v1/verify?user=a?b=c&group=x=y",
            "/v1/verify?user=%41%6c%69%63%65",
        ])
    func plain(target: String) throws {
        let fast = try #require(Query.plain(target: target))
        #expect(fast == Self.router(target))
    }

    @Test(
        "anything else is left to Hummingbird's parse (nil here), and invalid questions are invalid both ways",
        arguments: [
            "/v1/verify", "/v1/verify?", "/v1/verifyx?user=a", "/v1/verify/?user=a", "/v1/verify?user=a+b", "/v1/verify?user=a#frag",
            "/v1/verify?user=%zz", "/v1/verify?user=%4", "/v1/verify?user=%", "/v1/verify?user=%C3", "/v1/verify?user=%00",
            "/v1/verify?user=al%69ce&grup=g", "/v1/verify?group=g", "/v1/verify?user=&group=g", "/v1/verify?us%65r=alice",
            "/v1/verify?user=\u{e9}", "/v1/status?user=a", "/v1/verify?&&user=alice&&group=g&", "/v1/verify?user=a&",
        ])
    func notPlain(target: String) {
        let fast = Query.plain(target: target)
        if let fast { #expect(fast == Self.router(target)) }
        // What the handler then asks: the byte-wise reading, else Hummingbird's.
        #expect((fast ?? Self.router(target)) == Self.router(target))
    }

    @Test("a NUL or a byte that is not UTF-8 once decoded never passes the byte-wise reading")
    func decodedBytes() {
        #expect(Query.plain(target: "/v1/verify?user=%FF%FE") == nil)
        #expect(Query.plain(target: "/v1/verify?user=a%00b")?.user == "a\u{0}b")
    }
}
