import Foundation
import GroupSync
import GroupSyncDaemon
import Logging
import SyncConfig
import SyncStore
import Testing
import Yams

@Suite("docs/openapi.yaml describes exactly the routes the daemon serves")
struct OpenAPITests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every operation docs/openapi.yaml describes: method (upper case) and path.
    static func documentedRoutes() throws -> [(method: String, path: String)] {
        let text = try String(contentsOf: repository.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var routes: [(method: String, path: String)] = []
        for (path, operations) in paths {
            for method in operations.keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                routes.append((method.uppercased(), path))
            }
        }
        return routes
    }

    @Test("every served route is documented, and every documented one is served")
    func routesMatch() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-openapi-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try ConfigLoader.parse("""
            store:
              path: groupsync.sqlite
            directories:
              - name: corp
                url: ldap://127.0.0.1:1
                users: {base: "dc=example,dc=com"}
                groups: {base: "dc=example,dc=com"}
            """, file: folder.appendingPathComponent("groupsync.yaml").path)
        let daemon = Daemon(config: config, store: try Store(path: config.store.path), logger: Logger(label: "test"))
        let served = Set(daemon.routes.router().routes.map { "\($0.method.rawValue) \($0.path)" })

        let documented = Set(try Self.documentedRoutes().map { "\($0.method) \($0.path)" })
        #expect(served == documented, "served only: \(served.subtracting(documented)); documented only: \(documented.subtracting(served))")
        #expect(served.count >= 10)
    }
}
