import Foundation
import GroupSync
import LDAPTestSupport
import SyncConfig
import Testing

/// The deployment files: the systemd unit passes `systemd-analyze verify`, and the
/// configuration beside it parses and uses the paths the unit provides.
@Suite("Deployment files")
struct DeployTests {
    static let unit = ExampleConfigTests.repository.appendingPathComponent("Deploy/systemd/groupsync.service")

    /// `systemd-analyze verify` on the unit, its ExecStart pointed at the built binary (verify
    /// checks that the command exists). Returns its exit code and everything it printed.
    func verify(_ text: String) throws -> (Int32, String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-unit-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("groupsync.service").path
        try text.replacingOccurrences(of: "/usr/local/bin/groupsync", with: CLITests.binary).write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolveExecutable("systemd-analyze"))
        process.arguments = ["verify", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, printed)
    }

    @Test("the systemd unit passes systemd-analyze verify without a word; a mistyped key would not")
    func systemdUnit() throws {
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        let (status, printed) = try verify(text)
        #expect(status == 0 && printed.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(printed)")
        for key in ["DynamicUser=yes", "StateDirectory=groupsync", "RuntimeDirectory=groupsync", "LoadCredential=ldap-password:",
                    "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n",
                    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "SystemCallFilter=@system-service", "Restart=on-failure"] {
            #expect(text.contains(key), "the unit sets \(key)")
        }
        let (_, mistyped) = try verify(text.replacingOccurrences(of: "ProtectHome=yes", with: "ProtectHome=yes\nProtectHoem=yes"))
        #expect(mistyped.contains("Unknown key 'ProtectHoem'"), "\(mistyped)")
    }

    @Test("the configuration beside the unit parses and names the unit's state, runtime and credential paths")
    func systemdConfig() throws {
        let text = try String(contentsOf: ExampleConfigTests.repository.appendingPathComponent("Deploy/systemd/groupsync.yaml"), encoding: .utf8)
        #expect(text.contains("/var/lib/groupsync/") && text.contains("/run/groupsync/") && text.contains("/run/credentials/groupsync.service/ldap-password"))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-unit-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for file in ["ca.pem", "ldap-password"] { try writeSecret("x\n", to: folder.appendingPathComponent(file)) }
        let local = text.replacingOccurrences(of: "/etc/groupsync/ca.pem", with: folder.appendingPathComponent("ca.pem").path)
            .replacingOccurrences(of: "/run/credentials/groupsync.service/ldap-password", with: folder.appendingPathComponent("ldap-password").path)
        let config = try ConfigLoader.parse(local, file: folder.appendingPathComponent("groupsync.yaml").path)
        #expect(config.store.path == "/var/lib/groupsync/groupsync.sqlite")
        #expect(config.controlSocket == "/run/groupsync/groupsync.sock")
    }

    /// The packages the Containerfile's runtime stage installs (the line after `# runtime packages`).
    static func runtimePackages() throws -> [String] {
        let file = try String(contentsOf: ExampleConfigTests.repository.appendingPathComponent("Deploy/container/Containerfile"), encoding: .utf8)
        let runtime = try #require(file.components(separatedBy: "# runtime packages").last)
        let install = try #require(runtime.split(separator: "\n").first { $0.contains("apt-get install") })
        return install.components(separatedBy: "--no-install-recommends").last!.components(separatedBy: "&&").first!
            .split(separator: " ").map(String.init).filter { !$0.isEmpty && $0 != "\\" }
    }

    /// Packages and everything they depend on, recursively (what apt would install).
    static func dependencies(of packages: [String]) throws -> Set<String> {
        let depends = try runCommand("apt-cache", [
            "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
        ] + packages)
        return Set(depends.split(separator: "\n").filter { !$0.hasPrefix(" ") && !$0.hasPrefix("<") }.map { String($0.split(separator: ":").first!) })
    }

    @Test("the container's runtime packages provide every library the binary links against")
    func containerPackages() async throws {
        let packages = try Self.runtimePackages()
        #expect(packages.contains("libldap-2.5-0") && packages.contains("libsqlite3-0"), "\(packages)")
        // apt-cache, ldd and dpkg take seconds: off the pool (see `runsOnRuntimePackages`).
        let (available, owners) = try await offThePool { () -> (Set<String>, [String: String]) in
            // What debian:12-slim has (apt and what it needs) plus the runtime packages and theirs.
            let available = try Self.dependencies(of: packages + ["apt", "libc6"])
            // The binary's libraries outside the Swift toolchain (the image links the Swift runtime statically).
            let toolchain = URL(fileURLWithPath: try resolveExecutable("swift")).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().path
            let libraries = try runCommand("ldd", [CLITests.binary]).split(separator: "\n").compactMap { line -> String? in
                let parts = line.split(separator: " ")
                guard let arrow = parts.firstIndex(of: "=>"), arrow + 1 < parts.count else { return nil }
                let path = String(parts[arrow + 1])
                return path.hasPrefix("/") && !path.hasPrefix(toolchain) ? path : nil
            }
            var owners: [String: String] = [:]
            for library in libraries {
                // dpkg knows a file by the path its package installed it at: /lib or /usr/lib (usrmerge).
                let real = URL(fileURLWithPath: library).resolvingSymlinksInPath().path
                let candidates = [library, real, real.hasPrefix("/usr/") ? String(real.dropFirst(4)) : "/usr" + real]
                let owner = candidates.lazy.compactMap { try? runCommand("dpkg", ["-S", $0]) }.first ?? ""
                owners[library] = String(owner.split(separator: ":").first ?? "")
            }
            return (available, owners)
        }
        #expect(owners.keys.contains { $0.contains("libldap") } && owners.keys.contains { $0.contains("libsqlite3") }, "\(owners.keys.sorted())")
        for (library, package) in owners.sorted(by: { $0.key < $1.key }) {
            #expect(!package.isEmpty && available.contains(package), "\(library) comes from \(package.isEmpty ? "no package" : package), not in the image")
        }
    }

    @Test("the Kubernetes example: a ConfigMap whose groupsync.yaml parses, a Secret, a volume claim and a Deployment")
    func kubernetes() throws {
        let text = try String(contentsOf: ExampleConfigTests.repository.appendingPathComponent("Deploy/kubernetes/groupsync.yaml"), encoding: .utf8)
        let kinds = text.split(separator: "\n").filter { $0.hasPrefix("kind: ") }.map { String($0.dropFirst(6)) }
        #expect(kinds == ["ConfigMap", "Secret", "PersistentVolumeClaim", "Deployment"])
        // The configuration is the block under `groupsync.yaml: |`, indented four spaces.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.contains("groupsync.yaml: |") }) + 1
        let block = lines[start...].prefix { $0.hasPrefix("    ") || $0.isEmpty }.map { $0.dropFirst(min(4, $0.count)) }.joined(separator: "\n")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-k8s-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for file in ["ldap-password", "api-token"] { try writeSecret("change-me-to-at-least-16-characters\n", to: folder.appendingPathComponent(file)) }
        let config = try ConfigLoader.parse(block.replacingOccurrences(of: "/etc/groupsync/secrets/", with: folder.path + "/"), file: folder.appendingPathComponent("groupsync.yaml").path)
        #expect(config.store.path == "/var/lib/groupsync/groupsync.sqlite" && config.server.listen == "0.0.0.0:8470")
        #expect(text.contains("runAsNonRoot: true") && text.contains("readOnlyRootFilesystem: true"))
    }

    @Test("the binary runs in a root that holds only the image's packages (and the Swift runtime a debug build links)")
    func runsOnRuntimePackages() async throws {
        #expect(getuid() == 0, "building a root and chroot need root, as the tests run in CI")
        let packages = try Self.runtimePackages()
        // apt-cache, dpkg for each package, copying and chroot take 10–25 s. Run on one of
        // Swift concurrency's threads (two on two cores) with `containerPackages` on the
        // other, they held both, and every other test waited that long: timing checks of
        // tests started meanwhile failed.
        let (copied, version) = try await offThePool { try Self.runInMinimalRoot(packages: packages) }
        #expect(copied > 20, "the packages' libraries were copied: \(copied)")
        #expect(version.contains("groupsync 0.") && version.contains("libldap: OpenLDAP"), "\(version)")
    }

    /// Builds a root holding only `packages` and what they depend on (their libraries and
    /// certificates), the groupsync binary and the Swift runtime a debug build links, and
    /// runs `groupsync --version` in it: how many files were copied, and what it printed.
    static func runInMinimalRoot(packages: [String]) throws -> (copied: Int, version: String) {
        let closure = try Self.dependencies(of: packages + ["libc6"])
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-root-\(UUID().uuidString.prefix(8))")
        defer { if ProcessInfo.processInfo.environment["GROUPSYNC_KEEP_ROOT"] == nil { try? FileManager.default.removeItem(at: root) } }
        let manager = FileManager.default
        try manager.createDirectory(at: root.appendingPathComponent("usr/lib"), withIntermediateDirectories: true)
        try manager.createDirectory(at: root.appendingPathComponent("usr/lib64"), withIntermediateDirectories: true)
        try manager.createDirectory(at: root.appendingPathComponent("usr/bin"), withIntermediateDirectories: true)
        // Debian 12's merged /usr.
        for (link, target) in [("lib", "usr/lib"), ("lib64", "usr/lib64"), ("bin", "usr/bin")] {
            try manager.createSymbolicLink(atPath: root.appendingPathComponent(link).path, withDestinationPath: target)
        }
        func copy(_ path: String) throws {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { return }
            let destination = root.appendingPathComponent(String(path.dropFirst()))
            try manager.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            if manager.fileExists(atPath: destination.path) { return }
            if let target = try? manager.destinationOfSymbolicLink(atPath: path) {
                try manager.createSymbolicLink(atPath: destination.path, withDestinationPath: target)
            } else {
                try manager.copyItem(atPath: path, toPath: destination.path)
            }
        }
        var copied = 0
        for package in closure {
            guard let files = try? runCommand("dpkg", ["-L", package]) else { continue }
            for path in files.split(separator: "\n") where path.contains(".so") || path.hasPrefix("/etc/ssl") {
                try copy(String(path))
                copied += 1
            }
        }
        // The debug build links the Swift runtime dynamically (the image links it statically).
        let toolchain = URL(fileURLWithPath: try resolveExecutable("swift")).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().path
        for line in try runCommand("ldd", [CLITests.binary]).split(separator: "\n") {
            let parts = line.split(separator: " ")
            if let arrow = parts.firstIndex(of: "=>"), arrow + 1 < parts.count, parts[arrow + 1].hasPrefix(toolchain) {
                try copy(URL(fileURLWithPath: String(parts[arrow + 1])).resolvingSymlinksInPath().path)
                try copy(String(parts[arrow + 1]))
            }
        }
        try copy("/lib64/ld-linux-x86-64.so.2")
        try manager.createDirectory(at: root.appendingPathComponent("usr/local/bin"), withIntermediateDirectories: true)
        try manager.copyItem(atPath: CLITests.binary, toPath: root.appendingPathComponent("usr/local/bin/groupsync").path)
        // The Swift runtime reads the arguments from /proc/self/cmdline.
        try manager.createDirectory(at: root.appendingPathComponent("proc"), withIntermediateDirectories: true)
        try runCommand("mount", ["-t", "proc", "proc", root.appendingPathComponent("proc").path])
        defer { _ = try? runCommand("umount", ["-l", root.appendingPathComponent("proc").path]) }
        return (copied, try runCommand("chroot", [root.path, "/usr/local/bin/groupsync", "--version"]))
    }
}
