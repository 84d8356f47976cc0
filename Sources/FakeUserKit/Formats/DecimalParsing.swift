#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses a decimal number to the nearest Double, exactly as strtod would, without the
/// cost of strtod for the common case: up to 19 significant digits and a small exponent
/// (every value fu writes). Other text (more digits, `inf`, hex) goes to strtod.
/// Returns nil when the text is not a number.
public func parseDouble(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
    let count = bytes.count
    guard count > 0, let base = bytes.baseAddress else { return nil }
    var i = 0
    var negative = false
    if base[0] == UInt8(ascii: "-") || base[0] == UInt8(ascii: "+") {
        negative = base[0] == UInt8(ascii: "-")
        i = 1
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var exponent = 0
    var sawDigit = false
    var afterPoint = false
    while i < count {
        let digit = base[i] &- 0x30
        if digit < 10 {
            sawDigit = true
            if mantissa != 0 || digit != 0 {  // leading zeros are not significant
                guard digits < 19 else { return parseWithStrtod(bytes) }
                mantissa = mantissa &* 10 &+ UInt64(digit)
                digits += 1
            }
            if afterPoint { exponent -= 1 }
        } else if base[i] == UInt8(ascii: ".") && !afterPoint {
            afterPoint = true
        } else {
            break
        }
        i += 1
    }
    guard sawDigit else { return parseWithStrtod(bytes) }
    if i < count, base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E") {
        i += 1
        var exponentNegative = false
        if i < count, base[i] == UInt8(ascii: "-") || base[i] == UInt8(ascii: "+") {
            exponentNegative = base[i] == UInt8(ascii: "-")
            i += 1
        }
        var value = 0
        var exponentDigits = 0
        while i < count, base[i] &- 0x30 < 10 {
            if value < 100_000 { value = value * 10 + Int(base[i] &- 0x30) }
            exponentDigits += 1
            i += 1
        }
        guard exponentDigits > 0 else { return nil }
        exponent += exponentNegative ? -value : value
    }
    guard i == count else { return nil }
    guard let magnitude = exactDecimal(mantissa, exponent) else { return parseWithStrtod(bytes) }
    return negative ? -magnitude : magnitude
}

private let exactPowersOfTen: [Double] = (0...22).map { power in
    var value = 1.0
    for _ in 0..<power { value *= 10 }  // exact: every 10^k with k <= 22 is a double
    return value
}

/// mantissa × 10^exponent rounded to nearest (ties to even), or nil when this fast path
/// cannot guarantee it.
@inline(__always)
private func exactDecimal(_ mantissa: UInt64, _ exponent: Int) -> Double? {
    if mantissa == 0 { return 0 }
    if exponent == 0 { return Double(mantissa) }
    // Clinger's fast path: both operands exact, one rounding.
    if mantissa < 1 << 53 && abs(exponent) <= 22 {
        return exponent > 0 ? Double(mantissa) * exactPowersOfTen[exponent] : Double(mantissa) / exactPowersOfTen[-exponent]
    }
    guard exponent < 0 && exponent >= -19 else { return nil }
    // mantissa / 10^k by 128-bit integer division: a 64-bit quotient, then round to 53 bits.
    var divisor: UInt64 = 1
    for _ in 0..<(-exponent) { divisor &*= 10 }
    var shift = 63 + (64 - divisor.leadingZeroBitCount) - (64 - mantissa.leadingZeroBitCount)
    while true {
        let high = shift == 0 ? 0 : (shift >= 64 ? mantissa << (shift - 64) : mantissa >> (64 - shift))
        let low = shift >= 64 ? 0 : mantissa << shift
        if high >= divisor {
            shift -= 1
            continue
        }
        let (quotient, remainder) = divisor.dividingFullWidth((high: high, low: low))
        if quotient < 1 << 63 {
            shift += 1
            continue
        }
        var significand = quotient >> 11
        let dropped = quotient & 0x7FF
        if dropped > 0x400 || (dropped == 0x400 && (remainder != 0 || significand & 1 == 1)) {
            significand += 1
        }
        return Double(sign: .plus, exponent: 11 - shift, significand: Double(significand))
    }
}

private func parseWithStrtod(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
    guard bytes.count < 512, let first = bytes.first, first != 0x20, first != 0x09 else { return nil }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { text in
        for (index, byte) in bytes.enumerated() { text[index] = CChar(bitPattern: byte) }
        text[bytes.count] = 0
        var end: UnsafeMutablePointer<CChar>?
        let value = strtod(text.baseAddress!, &end)
        return end == text.baseAddress! + bytes.count ? value : nil
    }
}
