import EmiliaModel
import EmiliaServer
import Foundation

/// Checks a JSON answer against a schema of the OpenAPI document, in the parts of JSON Schema the document uses:
/// `$ref`, `oneOf`, `type` (one or a list), `enum`, `const`, `required`, `properties`, `additionalProperties`, `items`.
struct SchemaCheck {
    let schemas: [String: Any]

    init() throws {
        let document = try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json)) as? [String: Any]
        guard let schemas = (document?["components"] as? [String: Any])?["schemas"] as? [String: Any] else {
            throw TestFailure("the document has no components.schemas")
        }
        self.schemas = schemas
    }

    /// The problems of `body` against the schema named `name`, each with its path; none when it conforms.
    func problems(_ body: Data, against name: String) throws -> [String] {
        problems(try JSONParser.parse(body), ["$ref": "#/components/schemas/\(name)"], at: name)
    }

    func problems(_ value: JSONValue, _ schema: [String: Any], at path: String) -> [String] {
        if let reference = schema["$ref"] as? String {
            guard let target = schemas[String(reference.split(separator: "/").last ?? "")] as? [String: Any] else {
                return ["\(path): unknown \(reference)"]
            }
            return problems(value, target, at: path)
        }
        if let options = schema["oneOf"] as? [[String: Any]] {
            return options.contains { problems(value, $0, at: path).isEmpty } ? [] : ["\(path): matches none of oneOf"]
        }
        let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? []
        if !types.isEmpty, !types.contains(where: { Self.matches(value, $0) }) {
            return ["\(path): \(Self.kind(of: value)) is not \(types.joined(separator: " or "))"]
        }
        var found: [String] = []
        if let allowed = schema["enum"] as? [Any] {
            let ok = allowed.contains { option in
                if option is NSNull { return value == .null }
                return (option as? String).map { value == .string($0) } ?? false
            }
            if !ok { found.append("\(path): \(value) is not one of \(allowed)") }
        }
        if let constant = schema["const"] as? String, value != .string(constant) { found.append("\(path): not \(constant)") }
        switch value {
        case .object(let members):
            let keys = Set(members.map(\.key))
            for key in schema["required"] as? [String] ?? [] where !keys.contains(key) { found.append("\(path).\(key): missing") }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, member) in members {
                if let property = properties[key] as? [String: Any] {
                    found += problems(member, property, at: "\(path).\(key)")
                } else if let extra = schema["additionalProperties"] as? [String: Any] {
                    found += problems(member, extra, at: "\(path).\(key)")
                }
            }
        case .array(let elements):
            if let items = schema["items"] as? [String: Any] {
                for (index, element) in elements.enumerated() { found += problems(element, items, at: "\(path)[\(index)]") }
            }
        default:
            break
        }
        return found
    }

    private static func matches(_ value: JSONValue, _ type: String) -> Bool {
        switch (value, type) {
        case (.object, "object"), (.array, "array"), (.string, "string"), (.bool, "boolean"), (.null, "null"), (.number, "number"):
            return true
        case (.number(let text), "integer"):
            return !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
        default:
            return false
        }
    }

    private static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}
