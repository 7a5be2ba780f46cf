/**
 * `Schema.is` compiled to plain property checks, for the decoders of wire formats (src/ModelDiscovery.ts reads
 * `/v1/models` items with it).
 */
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"

/**
 * `Schema.is` for a schema made of the node kinds a JSON wire format uses (structs, arrays, unions, literals, strings,
 * numbers, booleans, refinements), compiled once into plain property checks; any other kind is handed to `Schema.is`
 * itself. It is derived from the schema, so there is one decoder (for discovery, `RawModel` in src/ModelDiscovery.ts).
 * Why: `Schema.is(RawModel)` over 5,000 items cost as much as the `JSON.parse` of their body (bench/README.md); this
 * is a few property reads per item. test/internal/schemaGuard.test.ts checks it against `Schema.is` on arbitrary
 * input.
 */
export const schemaGuard = <A, I>(schema: Schema.Schema<A, I>): (input: unknown) => input is A =>
  compileGuard(SchemaAST.typeAST(schema.ast)) as (input: unknown) => input is A

const compileGuard = (ast: SchemaAST.AST): (input: unknown) => boolean => {
  switch (ast._tag) {
    case "StringKeyword":
      return Predicate.isString
    case "NumberKeyword":
      return Predicate.isNumber
    case "BooleanKeyword":
      return Predicate.isBoolean
    case "UndefinedKeyword":
      return Predicate.isUndefined
    case "UnknownKeyword":
    case "AnyKeyword":
      return () => true
    case "Literal":
      return (input) => input === ast.literal
    case "Refinement": {
      const from = compileGuard(ast.from)
      return (input) => from(input) && Option.isNone(ast.filter(input, SchemaAST.defaultParseOption, ast))
    }
    case "Union": {
      const members = ast.types.map(compileGuard)
      return (input) => {
        for (const member of members) if (member(input)) return true
        return false
      }
    }
    case "TupleType": {
      if (ast.elements.length > 0 || ast.rest.length !== 1) break
      const element = compileGuard(ast.rest[0]!.type)
      return (input) => Array.isArray(input) && input.every(element)
    }
    case "TypeLiteral": {
      if (ast.indexSignatures.length > 0) break
      const properties = ast.propertySignatures.map((property) => ({
        name: property.name,
        isOptional: property.isOptional,
        is: compileGuard(property.type)
      }))
      // An own property, as `Schema.Struct` reads it (`exact`: a missing optional key is absent, not `undefined`).
      return (input) => {
        if (!Predicate.isRecord(input)) return false
        for (const { is, isOptional, name } of properties) {
          if (Object.hasOwn(input, name) ? !is(input[name]) : !isOptional) return false
        }
        return true
      }
    }
  }
  return Schema.is(Schema.make(ast))
}
