import Foundation
import Testing

@testable import GroupSyncDaemon

@Suite("Handing freed heap memory back")
struct HeapTrimTests {
    /// 64 MiB of 4,000-byte blocks, every 16th kept: the freed blocks between them stay in
    /// the heap (glibc trims only its top) until a trim hands their pages back.
    @Test("a trim returns pages freed between blocks still in use")
    func trimReturnsFreedPages() {
        let blockSize = 4_000, count = 16_384
        var blocks: [UnsafeMutableRawPointer] = []
        blocks.reserveCapacity(count)
        for _ in 0..<count {
            let block = UnsafeMutableRawPointer.allocate(byteCount: blockSize, alignment: 16)
            block.initializeMemory(as: UInt8.self, repeating: 0xA5, count: blockSize)
            blocks.append(block)
        }
        var kept: [UnsafeMutableRawPointer] = []
        for (index, block) in blocks.enumerated() {
            if index % 16 == 0 { kept.append(block) } else { block.deallocate() }
        }
        defer { for block in kept { block.deallocate() } }

        let result = HeapTrim.trim()
        #expect(result.residentBefore > 0 && result.residentAfter > 0)
        // About 60 MiB was freed; most of its pages lie wholly inside the freed runs.
        #expect(result.released > 24 << 20, "released \(result.released >> 20) MiB of \(result.residentBefore >> 20) MiB")
        // The kept blocks are intact.
        for block in kept { #expect(block.load(fromByteOffset: blockSize - 1, as: UInt8.self) == 0xA5) }
    }

    @Test("resident memory is read from the kernel")
    func residentBytes() {
        let resident = HeapTrim.residentBytes()
        #expect(resident > 1 << 20)
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        let kib = line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        // The same figure /proc/self/status gives, within what a moment's allocations move it.
        #expect(abs(resident - kib * 1024) < 16 << 20, "statm \(resident), status \(kib) KiB")
    }
}
