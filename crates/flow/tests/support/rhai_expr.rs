//! A small real-rhai adapter for tests and benches: `Engine::new_raw()` plus the arithmetic,
//! logic and string packages, with operation limits (the production sandbox is `weft-rules`).

use std::sync::Arc;

use rhai::packages::{ArithmeticPackage, BasicStringPackage, LogicPackage, Package};
use rhai::{AST, Dynamic, Engine, Scope};
use weft_flow::{Expr, ExprCompiler};

pub struct RhaiCompiler {
    engine: Arc<Engine>,
}

impl Default for RhaiCompiler {
    fn default() -> Self {
        let mut engine = Engine::new_raw();
        engine.register_global_module(ArithmeticPackage::new().as_shared_module());
        engine.register_global_module(LogicPackage::new().as_shared_module());
        engine.register_global_module(BasicStringPackage::new().as_shared_module());
        engine.set_max_operations(10_000);
        engine.set_max_expr_depths(32, 32);
        engine.set_max_string_size(10_000);
        RhaiCompiler {
            engine: Arc::new(engine),
        }
    }
}

#[derive(Debug)]
struct RhaiExpr {
    engine: Arc<Engine>,
    ast: AST,
}

impl Expr for RhaiExpr {
    fn eval_bool(&self, vars: &serde_json::Value) -> Result<bool, String> {
        let mut scope = Scope::new();
        for key in ["record", "initiator", "vars"] {
            let v: Dynamic = rhai::serde::to_dynamic(vars.get(key).cloned().unwrap_or_default())
                .map_err(|e| e.to_string())?;
            scope.push_constant_dynamic(key, v);
        }
        self.engine
            .eval_ast_with_scope::<bool>(&mut scope, &self.ast)
            .map_err(|e| e.to_string())
    }
}

impl ExprCompiler for RhaiCompiler {
    fn compile(&self, src: &str) -> Result<Arc<dyn Expr>, String> {
        let ast = self
            .engine
            .compile_expression(src)
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(RhaiExpr {
            engine: self.engine.clone(),
            ast,
        }))
    }

    fn check_template(&self, template: &str) -> Result<(), String> {
        // Enough for tests: unbalanced mustaches are the usual typo.
        if template.matches("{{").count() != template.matches("}}").count() {
            return Err(format!("template `{template}`: unbalanced {{{{ }}}}"));
        }
        Ok(())
    }
}
