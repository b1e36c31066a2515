use super::*;

fn filters(json: serde_json::Value) -> AccessLogFilters {
    serde_json::from_value(json).unwrap()
}

#[test]
fn filters_are_ored_and_none_keeps_everything() {
    let ms = std::time::Duration::from_millis;
    let none = AccessLogFilters::default();
    assert!(none.keeps(200, 0, ms(1)));
    let f = filters(
        serde_json::json!({"statusCodes": ["404", "500-599"], "retryAttempts": true, "minDuration": "100ms"}),
    );
    assert!(f.keeps(404, 0, ms(1)));
    assert!(f.keeps(503, 0, ms(1)));
    assert!(!f.keeps(200, 0, ms(1)));
    assert!(
        !f.keeps(405, 0, ms(100)),
        "minDuration is exclusive, as Traefik's"
    );
    assert!(f.keeps(200, 1, ms(1)));
    assert!(f.keeps(200, 0, ms(101)));
    // Traefik's flags write several in one value.
    let f = filters(serde_json::json!({"statusCodes": "200,300-302"}));
    assert!(f.keeps(301, 0, ms(1)) && f.keeps(200, 0, ms(1)) && !f.keeps(303, 0, ms(1)));
}

#[test]
fn bad_status_ranges_are_refused() {
    for bad in ["abc", "500-400", "20", "200-", "1000"] {
        let got =
            serde_json::from_value::<AccessLogFilters>(serde_json::json!({"statusCodes": [bad]}));
        assert!(got.is_err(), "{bad}");
    }
}

#[test]
fn unknown_field_names_fail_with_the_nearest() {
    let got = serde_json::from_value::<AccessLogFields>(
        serde_json::json!({"names": {"ClientUsrname": "drop"}}),
    );
    let err = got.unwrap_err().to_string();
    assert!(
        err.contains("\"ClientUsrname\"") && err.contains("\"ClientUsername\""),
        "{err}"
    );
    let ok: AccessLogFields =
        serde_json::from_value(serde_json::json!({"names": {"clientusername": "redact"}})).unwrap();
    assert_eq!(ok.names.get("ClientUsername"), Some(&FieldMode::Redact));
    assert!(
        serde_json::from_value::<AccessLogFields>(serde_json::json!({"defaultMode": "hide"}))
            .is_err()
    );
}
