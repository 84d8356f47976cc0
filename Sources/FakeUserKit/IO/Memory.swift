#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The most memory this process can expect to allocate: the machine's physical memory, or
/// less under `ulimit -v` / `ulimit -d`. A tool checks a size against it before it starts,
/// so an impossible request is a usage error rather than an abort mid-way.
public func allocatableBytes() -> Int {
    var result = Int.max
    let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
    if pages > 0 && pageSize > 0 { result = pages.multipliedReportingOverflow(by: pageSize).overflow ? Int.max : pages * pageSize }
    #if canImport(Glibc)
    let resources = [Int32(RLIMIT_AS.rawValue), Int32(RLIMIT_DATA.rawValue)]
    #else
    let resources = [RLIMIT_AS, RLIMIT_DATA]
    #endif
    for resource in resources {
        var limit = rlimit()
        #if canImport(Glibc)
        let got = getrlimit(__rlimit_resource_t(resource), &limit)
        #else
        let got = getrlimit(resource, &limit)
        #endif
        if got == 0 && limit.rlim_cur < UInt64(Int.max) {  // RLIM_INFINITY is all ones
            result = min(result, Int(limit.rlim_cur))
        }
    }
    return result
}

/// Makes room for `needed` elements in a buffer of `capacity` holding `used`: at least
/// doubles it, keeping the elements (an arena's or a list's growth, amortized).
@inline(__always)
func reserveRoom<Element>(_ buffer: inout UnsafeMutablePointer<Element>, capacity: inout Int, used: Int, needed: Int) {
    guard needed > capacity else { return }
    let grown = max(capacity * 2, needed)
    let bigger = UnsafeMutablePointer<Element>.allocate(capacity: grown)
    bigger.moveInitialize(from: buffer, count: used)
    buffer.deallocate()
    buffer = bigger
    capacity = grown
}

/// `count` uninitialized elements starting on a cache line, so that a record of 16, 32 or
/// 64 bytes never straddles two lines (malloc aligns to 16 only: a straddling record costs
/// two misses where one would do). Freed with `deallocate()`.
func allocateCacheAligned<Element>(_ count: Int, of _: Element.Type = Element.self) -> UnsafeMutablePointer<Element> {
    UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Element>.stride, alignment: max(64, MemoryLayout<Element>.alignment))
        .bindMemory(to: Element.self, capacity: count)
}
