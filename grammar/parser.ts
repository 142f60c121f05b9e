// The `.nn` grammar as a chevrotain CstParser: the language's single source of
// truth, free of semantic actions. src/syntax turns its CST into the AST.
//
// Statements are newline-terminated. The driver (src/syntax/parse.ts) hands
// the parser one statement at a time, so an error in one line never hides the
// errors of the next: that is the error recovery.
import { CstParser, type IParserErrorMessageProvider } from "chevrotain";
import * as T from "./tokens.ts";

export class NnParser extends CstParser {
  constructor(errorMessageProvider?: IParserErrorMessageProvider) {
    super([...T.ALL_TOKENS], { maxLookahead: 3, recoveryEnabled: false, ...(errorMessageProvider ? { errorMessageProvider } : {}) });
    this.performSelfAnalysis();
  }

  /** A whole file: used for the syntax diagrams; the driver parses statement by statement. */
  file = this.RULE("file", () => {
    this.MANY(() => {
      this.OPTION(() => this.SUBRULE(this.statement));
      this.CONSUME(T.Newline);
    });
  });

  statement = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.modelStmt) },
      { ALT: () => this.SUBRULE(this.dimStmt) },
      { ALT: () => this.SUBRULE(this.dataStmt) },
      { ALT: () => this.SUBRULE(this.paramStmt) },
      { ALT: () => this.SUBRULE(this.constStmt) },
      { ALT: () => this.SUBRULE(this.fnStmt) },
      { ALT: () => this.SUBRULE(this.outputStmt) },
      { ALT: () => this.SUBRULE(this.lossStmt) },
      { ALT: () => this.SUBRULE(this.trainStmt) },
      { ALT: () => this.SUBRULE(this.layerStmt) },
      { ALT: () => this.SUBRULE(this.returnStmt) },
      { ALT: () => this.SUBRULE(this.repeatStmt) },
      { ALT: () => this.SUBRULE(this.defStmt) },
    ]);
  });

  modelStmt = this.RULE("modelStmt", () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Ident);
  });

  dimStmt = this.RULE("dimStmt", () => {
    this.CONSUME(T.Dim);
    this.CONSUME(T.Ident);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.CONSUME(T.Number);
    });
  });

  /** `input NAME: [int|float] SHAPE` and `target NAME: ...` */
  dataStmt = this.RULE("dataStmt", () => {
    this.OR([{ ALT: () => this.CONSUME(T.Input) }, { ALT: () => this.CONSUME(T.Target) }]);
    this.CONSUME(T.Ident);
    this.CONSUME(T.Colon);
    this.OPTION(() => this.OR2([{ ALT: () => this.CONSUME(T.Int) }, { ALT: () => this.CONSUME(T.Float) }]));
    this.SUBRULE(this.shape);
  });

  paramStmt = this.RULE("paramStmt", () => {
    this.CONSUME(T.Param);
    this.CONSUME(T.Ident);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.shape);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expression);
    });
  });

  constStmt = this.RULE("constStmt", () => {
    this.CONSUME(T.Const);
    this.CONSUME(T.Ident);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  fnStmt = this.RULE("fnStmt", () => {
    this.CONSUME(T.Fn);
    this.CONSUME(T.CallIdent);
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.CONSUME(T.Ident) });
    this.CONSUME(T.RParen);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  outputStmt = this.RULE("outputStmt", () => {
    this.CONSUME(T.Output);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.CONSUME(T.Ident) });
  });

  lossStmt = this.RULE("lossStmt", () => {
    this.CONSUME(T.Loss);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  trainStmt = this.RULE("trainStmt", () => {
    this.CONSUME(T.Train);
    this.CONSUME(T.CallIdent);
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.argument) });
    this.CONSUME(T.RParen);
  });

  /**
   * `layer NAME(a, b):` opens a layer; its body is the indented lines below
   * (params, definitions, one `return`). The driver groups those lines by
   * indentation and parses each as a statement of its own.
   */
  layerStmt = this.RULE("layerStmt", () => {
    this.CONSUME(T.Layer);
    this.CONSUME(T.CallIdent);
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.CONSUME(T.Ident) });
    this.CONSUME(T.RParen);
    this.CONSUME(T.Colon);
  });

  /** `return EXPR`: the value of a layer, its body's last line. */
  returnStmt = this.RULE("returnStmt", () => {
    this.CONSUME(T.Return);
    this.SUBRULE(this.expression);
  });

  /** `h = repeat 3 block(x, …)`: block applied 3 times, each use with its own params, the first argument threaded through. */
  repeatStmt = this.RULE("repeatStmt", () => {
    this.CONSUME(T.Ident);
    this.CONSUME(T.Equals);
    this.CONSUME(T.Repeat);
    this.OR([{ ALT: () => this.CONSUME(T.Number) }, { ALT: () => this.CONSUME2(T.Ident) }]);
    this.SUBRULE(this.call);
  });

  defStmt = this.RULE("defStmt", () => {
    this.CONSUME(T.Ident);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  /** `[batch, 784]`, `[_, 10]` */
  shape = this.RULE("shape", () => {
    this.CONSUME(T.LBracket);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.dimension) });
    this.CONSUME(T.RBracket);
  });

  dimension = this.RULE("dimension", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Number) },
      { ALT: () => this.CONSUME(T.Ident) },
      { ALT: () => this.CONSUME(T.Underscore) },
    ]);
  });

  // Expressions, loosest first: `+ -`, `* /`, unary `-`, matrix product
  // (juxtaposition or `@`), `^`, postfix `.T`, primaries.
  expression = this.RULE("expression", () => {
    this.SUBRULE(this.multiplicative);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      this.SUBRULE2(this.multiplicative);
    });
  });

  multiplicative = this.RULE("multiplicative", () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Star) }, { ALT: () => this.CONSUME(T.Slash) }]);
      this.SUBRULE2(this.unary);
    });
  });

  unary = this.RULE("unary", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.matmul) },
    ]);
  });

  /** `a b` and `a @ b`; left-associative. */
  matmul = this.RULE("matmul", () => {
    this.SUBRULE(this.power);
    this.MANY(() => {
      this.OPTION(() => this.CONSUME(T.At));
      this.SUBRULE2(this.power);
    });
  });

  /** `a ^ b`, right-associative; the exponent may be negated: `x ^ -1`. */
  power = this.RULE("power", () => {
    this.SUBRULE(this.postfix);
    this.OPTION(() => {
      this.CONSUME(T.Caret);
      this.SUBRULE(this.exponent);
    });
  });

  exponent = this.RULE("exponent", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.exponent);
        },
      },
      { ALT: () => this.SUBRULE(this.power) },
    ]);
  });

  postfix = this.RULE("postfix", () => {
    this.SUBRULE(this.primary);
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.Dot);
            this.CONSUME(T.Ident);
          },
        },
        { ALT: () => this.SUBRULE(this.index) },
      ]);
    });
  });

  /** `x[:, 2:5]`, `x[..., -1]`: one entry per axis, `[` written right after the value. */
  index = this.RULE("index", () => {
    this.CONSUME(T.IndexOpen);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.indexItem) });
    this.CONSUME(T.RBracket);
  });

  /** `...`, `:`, `i`, `a:`, `:b` or `a:b`. */
  indexItem = this.RULE("indexItem", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Ellipsis) },
      {
        ALT: () => {
          this.CONSUME(T.Colon);
          this.OPTION(() => this.SUBRULE(this.expression, { LABEL: "end" }));
        },
      },
      {
        ALT: () => {
          this.SUBRULE2(this.expression, { LABEL: "start" });
          this.OPTION2(() => {
            this.CONSUME2(T.Colon);
            this.OPTION3(() => this.SUBRULE3(this.expression, { LABEL: "end" }));
          });
        },
      },
    ]);
  });

  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Number) },
      { ALT: () => this.CONSUME(T.StringLit) },
      { ALT: () => this.SUBRULE(this.call) },
      { ALT: () => this.CONSUME(T.Ident) },
      { ALT: () => this.CONSUME(T.Underscore) },
      { ALT: () => this.SUBRULE(this.group) },
      { ALT: () => this.SUBRULE(this.list) },
    ]);
  });

  call = this.RULE("call", () => {
    this.CONSUME(T.CallIdent);
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.argument) });
    this.CONSUME(T.RParen);
  });

  /** `expr` or `key = expr` */
  argument = this.RULE("argument", () => {
    this.OPTION(() => {
      this.CONSUME(T.Ident);
      this.CONSUME(T.Equals);
    });
    this.SUBRULE(this.expression);
  });

  group = this.RULE("group", () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expression);
    this.CONSUME(T.RParen);
  });

  /** `[a, b, ...]`: shapes given to reshape. */
  list = this.RULE("list", () => {
    this.CONSUME(T.LBracket);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression) });
    this.CONSUME(T.RBracket);
  });
}

