import Foundation

/// A file an admin hands groupsync (the configuration, a `verify --file` batch), read whole
/// only when it is a regular file of at most a given size: a device such as /dev/zero would
/// be read forever, a directory is a mistake, and a huge file is not what was meant.
package enum BoundedFile {
    package enum Problem: Error {
        case notRegular
        case tooBig(Int64)
        case unreadable
    }

    package static func read(_ path: String, maximumBytes: Int) -> Result<Data, Problem> {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFREG else { return .failure(.notRegular) }
            guard info.st_size <= maximumBytes else { return .failure(.tooBig(Int64(info.st_size))) }
        }
        guard let data = FileManager.default.contents(atPath: path) else { return .failure(.unreadable) }
        return .success(data)
    }
}
