#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small line chart as inline SVG: axes from 0 to 1 (or given ranges), grid, series.
/// Every element that holds data carries `data-series`, so the page's own script (and a
/// test reading the rendered page) can count what the browser drew.
struct SVGChart {
    let id: String
    var xLabel: String
    var yLabel: String
    var xRange: ClosedRange<Double> = 0...1
    var yRange: ClosedRange<Double> = 0...1
    var xTicks: [Double] = [0, 0.2, 0.4, 0.6, 0.8, 1]
    var yTicks: [Double] = [0, 0.2, 0.4, 0.6, 0.8, 1]
    var tickDigits = 1
    var yTickDigits = 1
    var body = ""

    static let width = 360.0, height = 270.0
    static let left = 44.0, right = 12.0, top = 10.0, bottom = 38.0

    init(id: String, xLabel: String, yLabel: String) {
        self.id = id
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    func x(_ value: Double) -> Double {
        let fraction = (value - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound)
        return SVGChart.left + fraction * (SVGChart.width - SVGChart.left - SVGChart.right)
    }

    func y(_ value: Double) -> Double {
        let fraction = (value - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound)
        return SVGChart.height - SVGChart.bottom - fraction * (SVGChart.height - SVGChart.top - SVGChart.bottom)
    }

    func coordinates(_ points: [(Double, Double)]) -> String {
        points.map { "\(fixed(x($0.0), 1)),\(fixed(y($0.1), 1))" }.joined(separator: " ")
    }

    /// A polyline of (x, y) in data units; `series` names it for counting, nil for decoration.
    mutating func line(_ points: [(Double, Double)], series: String?, style: String, title: String? = nil) {
        let name = series.map { " data-series=\"\(escapeHTML($0))\"" } ?? ""
        body += "<polyline\(name) class=\"\(style)\" points=\"\(coordinates(points))\">"
        if let title { body += "<title>\(escapeHTML(title))</title>" }
        body += "</polyline>\n"
    }

    /// One circle per point, grouped under `series`; each with a tooltip.
    mutating func markers(_ points: [(x: Double, y: Double, title: String)], series: String, style: String) {
        body += "<g data-series=\"\(escapeHTML(series))\" class=\"\(style)\">"
        for point in points {
            body += "<circle cx=\"\(fixed(x(point.x), 1))\" cy=\"\(fixed(y(point.y), 1))\" r=\"3.5\"><title>\(escapeHTML(point.title))</title></circle>"
        }
        body += "</g>\n"
    }

    /// A vertical marker line across the plot at x, with a label at its top.
    mutating func vertical(at value: Double, style: String, label: String) {
        let position = fixed(x(value), 1)
        body += "<line class=\"\(style)\" x1=\"\(position)\" x2=\"\(position)\" y1=\"\(fixed(SVGChart.top, 1))\" y2=\"\(fixed(SVGChart.height - SVGChart.bottom, 1))\"><title>\(escapeHTML(label))</title></line>\n"
    }

    mutating func diagonal() {
        line([(xRange.lowerBound, yRange.lowerBound), (xRange.upperBound, yRange.upperBound)], series: nil, style: "diagonal")
    }

    /// The whole <svg>: grid, tick labels, axis titles, then the body.
    func render(label: String) -> String {
        let plotBottom = SVGChart.height - SVGChart.bottom, plotRight = SVGChart.width - SVGChart.right
        var svg = "<svg data-chart=\"\(escapeHTML(id))\" viewBox=\"0 0 \(Int(SVGChart.width)) \(Int(SVGChart.height))\" role=\"img\" aria-label=\"\(escapeHTML(label))\">\n"
        svg += "<g class=\"grid\">"
        for tick in xTicks {
            svg += "<line x1=\"\(fixed(x(tick), 1))\" x2=\"\(fixed(x(tick), 1))\" y1=\"\(fixed(SVGChart.top, 1))\" y2=\"\(fixed(plotBottom, 1))\"/>"
        }
        for tick in yTicks {
            svg += "<line x1=\"\(fixed(SVGChart.left, 1))\" x2=\"\(fixed(plotRight, 1))\" y1=\"\(fixed(y(tick), 1))\" y2=\"\(fixed(y(tick), 1))\"/>"
        }
        svg += "</g>\n<g class=\"ticks\">"
        for tick in xTicks {
            svg += "<text x=\"\(fixed(x(tick), 1))\" y=\"\(fixed(plotBottom + 14, 1))\" text-anchor=\"middle\">\(fixed(tick, tickDigits))</text>"
        }
        for tick in yTicks {
            svg += "<text x=\"\(fixed(SVGChart.left - 6, 1))\" y=\"\(fixed(y(tick) + 3.5, 1))\" text-anchor=\"end\">\(fixed(tick, yTickDigits))</text>"
        }
        svg += "</g>\n"
        svg += "<rect class=\"frame\" x=\"\(fixed(SVGChart.left, 1))\" y=\"\(fixed(SVGChart.top, 1))\" width=\"\(fixed(plotRight - SVGChart.left, 1))\" height=\"\(fixed(plotBottom - SVGChart.top, 1))\"/>\n"
        svg += "<text class=\"axis\" x=\"\(fixed((SVGChart.left + plotRight) / 2, 1))\" y=\"\(fixed(SVGChart.height - 4, 1))\" text-anchor=\"middle\">\(escapeHTML(xLabel))</text>\n"
        svg += "<text class=\"axis\" transform=\"translate(11 \(fixed((SVGChart.top + plotBottom) / 2, 1))) rotate(-90)\" text-anchor=\"middle\">\(escapeHTML(yLabel))</text>\n"
        return svg + body + "</svg>"
    }
}

/// `value` with exactly `digits` decimals (half away from zero), without Foundation.
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "−∞") }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e15 else { return shortest(value) }
    let integer = UInt64(scaled)
    let divisor = UInt64(scale)
    var text = String(integer / divisor)
    if digits > 0 {
        let fraction = String(integer % divisor)
        text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return (value < 0 && integer != 0 ? "-" : "") + text
}

/// The shortest text that reads back to the same double, as fu's JSON prints numbers.
func shortest(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
}

func escapeHTML(_ text: String) -> String {
    var result = ""
    for character in text {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&#39;"
        default: result.append(character)
        }
    }
    return result
}
