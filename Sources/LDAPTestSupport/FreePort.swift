import Foundation

import Synchronization

/// Ports this process handed out already: the kernel may offer a port again as soon as the
/// probe socket closes, and two tests starting servers at once must not both get it.
private let handedOut = Mutex<Set<Int>>([])

/// Ports the test Samba domain controller must bind on 127.0.0.1 (LDAP, LDAPS and the
/// global catalog's two): never handed out, in case the machine's ephemeral range reaches
/// below 1024 or into them.
let sambaPorts: Set<Int> = [389, 636, 3268, 3269]

/// Asks the kernel for a free TCP port on 127.0.0.1, never the same one twice in a process,
/// never a privileged one or one Samba needs (``sambaPorts``).
/// Another process could still take it before the caller binds it; ``TestDirectory``
/// retries with new ports when slapd cannot bind.
public func freeLoopbackPort() throws -> Int {
    for _ in 0..<50 {
        let port = try probeFreePort()
        guard port >= 1024, !sambaPorts.contains(port) else { continue }
        if handedOut.withLock({ $0.insert(port).inserted }) { return port }
    }
    throw POSIXError(.EADDRINUSE)
}

private func probeFreePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    return Int(UInt16(bigEndian: address.sin_port))
}
