from accounts.time_zones import current_time_zones, time_zone_choices, time_zone_label


def test_current_zones_leave_out_aliases_and_pseudo_zones():
    zones = current_time_zones()
    assert {"America/Sao_Paulo", "Europe/Lisbon", "Asia/Kolkata", "UTC"} <= zones
    assert not {"localtime", "Factory", "US/Eastern", "Brazil/East", "Asia/Calcutta"} & zones


def test_labels_name_the_country_in_the_page_language():
    assert time_zone_label("America/Sao_Paulo", "en") == "Sao Paulo (Brazil)"
    assert time_zone_label("America/Sao_Paulo", "pt-br") == "Sao Paulo (Brasil)"
    assert time_zone_label("America/Argentina/Buenos_Aires", "en") == (
        "Argentina / Buenos Aires (Argentina)"
    )


def test_a_saved_legacy_zone_stays_selectable_first():
    choices = time_zone_choices(current="Brazil/East", locale="pt-BR", language="en")
    assert choices[0][1][0] == ("Brazil/East", "Brazil/East")
    assert ("America/Sao_Paulo", "Sao Paulo (Brazil)") in choices[0][1]  # pt-BR → Brazil
